"""tap.py - the "ok - ..." / "not ok - ..." lines of kbreed's Python checks
(tests/cli/check_*.py, tests/gpu/check_export.py), which the shell tests
count as their own.

    from tap import check, exit_status
    check("what", condition, detail)   # detail printed as "#   " lines on a miss
    sys.exit(exit_status())            # 1 when any check failed
"""
_failed = 0


def check(what, cond, detail=""):
    global _failed
    print(("ok - " if cond else "not ok - ") + what, flush=True)
    if not cond:
        _failed += 1
        if detail:
            print("#   " + str(detail).replace("\n", "\n#   "), flush=True)


def exit_status():
    return 1 if _failed else 0
