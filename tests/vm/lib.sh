# Shared helpers for shell test suites: one PASS/FAIL line per check and a
# final "N passed, N failed".  Source it, call check/... and finish.
# shellcheck shell=sh

T_PASS=0
T_FAIL=0
T_SKIP=0

pass() {
	T_PASS=$((T_PASS + 1))
	echo "PASS: $*"
}

fail() {
	T_FAIL=$((T_FAIL + 1))
	echo "FAIL: $*"
}

skip() {
	T_SKIP=$((T_SKIP + 1))
	echo "SKIP: $*"
}

# run CMD...: run a command, keep its stdout/stderr/status in OUT/ERR/RC
run() {
	OUT=$("$@" 2>"$T_TMP/stderr")
	RC=$?
	ERR=$(cat "$T_TMP/stderr")
}

# expect_rc NAME WANT: the last run exited WANT
expect_rc() {
	if [ "$RC" -eq "$2" ]; then
		pass "$1"
	else
		fail "$1: exit status $RC, want $2; stderr: $ERR"
	fi
}

# expect_out NAME PATTERN: the last run's stdout matches grep -E PATTERN
expect_out() {
	if printf '%s\n' "$OUT" | grep -Eq -- "$2"; then
		pass "$1"
	else
		fail "$1: stdout lacks /$2/: $OUT"
	fi
}

# expect_err NAME PATTERN: the last run's stderr matches grep -E PATTERN
expect_err() {
	if printf '%s\n' "$ERR" | grep -Eq -- "$2"; then
		pass "$1"
	else
		fail "$1: stderr lacks /$2/: $ERR"
	fi
}

# json_eq NAME EXPR WANT: python3 EXPR over the last stdout (as j) == WANT
json_eq() {
	got=$(printf '%s' "$OUT" | python3 -c "import json,sys
j=json.load(sys.stdin)
print($2)" 2>&1)
	if [ "$got" = "$3" ]; then
		pass "$1"
	else
		fail "$1: $2 = '$got', want '$3'"
	fi
}

finish() {
	echo "== $1: $T_PASS passed, $T_FAIL failed, $T_SKIP skipped"
	[ "$T_FAIL" -eq 0 ]
}
