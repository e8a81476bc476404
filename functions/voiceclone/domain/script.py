"""The standard recording script: 20 Mandarin sentences every speaker reads, whatever the vendor.

They are Tencent Cloud VRS's training texts (GetTrainingText). Vendors without a
script of their own take the first `Capabilities.sentence_count` of them, so a
client records sentences the same way for every vendor.
"""

from voiceclone.domain.models import TrainingText

STANDARD_SCRIPT: list[TrainingText] = [
    TrainingText(text_id="00001", text="在很久很久以前 鸟群中有一只小鸟"),
    TrainingText(text_id="00002", text="它的体格比一般的鸟要大一点 羽毛很少 灰暗没有光泽"),
    TrainingText(text_id="00003", text="因为它并不耀眼夺目 很多的小鸟都不愿理睬它"),
    TrainingText(text_id="00004", text="在众多的小鸟中 显得很普通 这只鸟叫做凤凰"),
    TrainingText(text_id="00005", text="那时候的凤凰还不是鸟中之王 只是一个很不起眼的小鸟"),
    TrainingText(
        text_id="00006", text="凤凰一直非常勤劳 并不像其他小鸟一样贪玩 反而是每天都默默地从早忙到晚"
    ),
    TrainingText(text_id="00007", text="每天吃饱后 它还要继续收集果实 将大家不要的果实一颗颗捡起来 藏在洞中"),
    TrainingText(text_id="00008", text="其他的小鸟一起玩耍打闹 都理解不了凤凰的行为 觉得古怪 飞过来问凤凰"),
    TrainingText(text_id="00009", text="森林里那么多果实 还不够自己吃的吗 为什么还要储存那么多呢"),
    TrainingText(text_id="00010", text="鸟儿们嘲笑着凤凰的贪得无厌 之后摇摇头纷纷离开了"),
    TrainingText(text_id="00011", text="适逢很久没有下雨 森林里大旱 鸟儿们四处寻找食物"),
    TrainingText(text_id="00012", text="可是果实早就干瘪了 根本找寻不到吃的东西"),
    TrainingText(text_id="00013", text="这时候 凤凰急忙打开山洞 把自己辛苦储存的食物分给大家 一起共度难关"),
    TrainingText(text_id="00014", text="就这样 在凤凰的帮助下 鸟儿们得救了"),
    TrainingText(text_id="00015", text="旱灾过后 森林里又恢复了生机 而鸟儿们自然也不能忘了凤凰的救命之恩"),
    TrainingText(text_id="00016", text="为了感谢凤凰 鸟儿们都将自己身上最漂亮的羽毛拔下来"),
    TrainingText(text_id="00017", text="制成一件光彩夺目的百鸟衣送给凤凰 并推举它为百鸟之王"),
    TrainingText(text_id="00018", text="从此 每到这一天 四面八方的鸟儿都会飞来向凤凰祝贺"),
    TrainingText(text_id="00019", text="就形成了后来百鸟朝凤的场景 这便是百鸟朝凤故事的由来"),
    TrainingText(text_id="00020", text="后来人们也用百鸟朝凤来比喻德高望重者众望所归"),
]
