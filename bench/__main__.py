"""`make bench`: run every benchmark and print one report table. Not part of the test suite."""

from __future__ import annotations

import sys

from bench import customers, imports


def main() -> int:
    rows = customers.main() + imports.main()
    width = max(len(name) for name, _ in rows)
    print()
    print(f"{'benchmark'.ljust(width)}  result")
    print(f"{'-' * width}  {'-' * 40}")
    for name, value in rows:
        print(f"{name.ljust(width)}  {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
