#!/usr/bin/env bash
# Run pytest, treating exit code 5 ("no tests collected") as a failure with a clear message.
"$@"
rc=$?
if [ "$rc" -eq 5 ]; then echo "run-pytest: pytest collected no tests" >&2; exit 1; fi
exit "$rc"
