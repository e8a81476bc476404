"""The stack `voiceclone local up` starts, in a browser test's child process, printing also where its AWS
(moto) is, its table and its bucket: the test reads behind the page what a listener never could."""

from __future__ import annotations

import signal
import sys
import time


def main() -> int:
    from voiceclone_local.stack import LocalStack

    signal.signal(signal.SIGINT, signal.default_int_handler)  # Ctrl-C stops it, whatever the runner set
    stack = LocalStack().start()
    try:
        print(f"voiceclone local stack is up: API {stack.api_url}", flush=True)
        print(f"  export VOICECLONE_API_URL={stack.api_url}", flush=True)
        print(f"  export VOICECLONE_API_KEY={stack.api_key}", flush=True)
        print(f"  studio (record a voice in the browser): {stack.studio_url}", flush=True)
        print(f"  moto {stack.moto_url} table {stack.table_name} bucket {stack.bucket_name}", flush=True)
        print("Ctrl-C stops it.", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    finally:
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
