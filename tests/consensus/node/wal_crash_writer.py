"""A writer process for the WAL crash test: appends numbered records forever.

Run as ``python -m tests.consensus.node.wal_crash_writer DIR``. Record ``i`` is
``expected_record(i)``; every tenth record starts the next height and prunes
old ones. After each synced append it prints ``i``: that record was durable
before the test could see the number. The test SIGKILLs it at random moments.
"""

from __future__ import annotations

import sys

from consensus.node.wal import WriteAheadLog


def expected_record(index: int) -> bytes:
    """Record ``index``: its number and a payload whose size varies (1 B to ~6 KiB)."""
    return b"%d:" % index + bytes([index % 251]) * ((index * 7919) % 6000)


def main(directory: str) -> None:
    wal = WriteAheadLog(directory)
    replayed = [entry.record for entry in wal.replay(from_height=0)]
    index = int(replayed[-1].split(b":")[0]) + 1 if replayed else 0
    print("ready", flush=True)
    while True:
        if index % 10 == 0:
            height = index // 10 + 1
            wal.start_height(height)
            wal.prune_below(height - 2)
        wal.append(expected_record(index), sync=index % 3 != 1)  # some unsynced appends too
        if index % 3 != 1:
            print(index, flush=True)
        index += 1


if __name__ == "__main__":
    main(sys.argv[1])
