"""``python -m voiceclone.runtime``: the process Lambda runs in place of its own Python runtime client."""

from voiceclone.runtime.bootstrap import main

main()
