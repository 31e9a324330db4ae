"""Compares two extracted trees: same relative paths, same kinds, same bytes.

Usage: same_tree.py A B. Prints each difference; exits 1 if there is one.
Nothing is followed: a symbolic link is a kind of its own (and sealtar never
writes one, so any link GNU tar made shows up as a difference).
"""

import os
import stat
import sys


def tree(root):
    entries = {}
    for parent, dirs, files in os.walk(root, followlinks=False):
        for name in dirs + files:
            path = os.path.join(parent, name)
            rel = os.path.relpath(path, root)
            st = os.lstat(path)
            if stat.S_ISDIR(st.st_mode):
                entries[rel] = ("dir", None)
            elif stat.S_ISREG(st.st_mode):
                with open(path, "rb") as f:
                    entries[rel] = ("file", f.read())
            elif stat.S_ISLNK(st.st_mode):
                entries[rel] = ("symlink", os.readlink(path))
            else:
                entries[rel] = ("other", None)
    return entries


def main():
    a, b = tree(sys.argv[1]), tree(sys.argv[2])
    differ = False
    for rel in sorted(set(a) | set(b)):
        if rel not in b:
            print(f"  only in {sys.argv[1]}: {rel!r} ({a[rel][0]})")
        elif rel not in a:
            print(f"  only in {sys.argv[2]}: {rel!r} ({b[rel][0]})")
        elif a[rel][0] != b[rel][0]:
            print(f"  {rel!r}: {a[rel][0]} vs {b[rel][0]}")
        elif a[rel] != b[rel]:
            print(f"  {rel!r}: contents differ")
        else:
            continue
        differ = True
    if not a:
        print(f"  {sys.argv[1]} is empty")
        differ = True
    sys.exit(1 if differ else 0)


if __name__ == "__main__":
    main()
