"""Worker processes for the multi-process tests, run as ``python -m tests.credentials.workers``.

``write-loop ROOT`` rewrites the store forever, each version holding a
counter and a payload that repeats it, until it is killed.
``set-many ROOT NAME COUNT`` sets COUNT keys under sources.NAME.
``get-token ROOT TOKEN_URL`` sets Django up, waits for a line on standard
input and prints the access token of the source "sheets".
"""

import os
import sys


def write_loop(root: str) -> None:
    from credentials.store import SecretsStore

    store = SecretsStore(root)
    version = int(store.get("sources.big.counter")) if store.exists() else 0
    print("ready", flush=True)
    while True:
        version += 1
        with store.edit() as document:
            document.set("sources.big.counter", version)
            document.set("sources.big.payload", f"{version}:" + "x" * 2000)


def set_many(root: str, name: str, count: str) -> None:
    from credentials.store import SecretsStore

    store = SecretsStore(root)
    for index in range(int(count)):
        store.set(f"sources.{name}.key{index}", f"value-{name}-{index}")


def get_token(root: str, token_url: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()
    from django.test import override_settings

    from credentials.google_oauth import get_access_token

    with override_settings(
        CREDENTIALS_PROJECT_ROOT=root,
        CREDENTIALS_GOOGLE_TOKEN_URL=token_url,
        CREDENTIALS_REFRESH_BACKOFF=0.001,
    ):
        print("ready", flush=True)
        sys.stdin.readline()
        print("token", get_access_token("sheets"), flush=True)


if __name__ == "__main__":
    commands = {"write-loop": write_loop, "set-many": set_many, "get-token": get_token}
    commands[sys.argv[1]](*sys.argv[2:])
