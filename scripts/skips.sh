# scripts/skips.sh: sourced by scripts/test-all (and tests/e2e-skips.sh).
# Needs $top (the source tree) and the counters $fail and $skip; reads
# scripts/ci-skips.
# allowed SUITE TEST WHAT: is this skip on the allow-list (scripts/ci-skips)?
tab=$(printf '\t')
allowed() {
	while IFS=$tab read -r a_s a_t a_w _why; do
		case $a_s in "" | "#"*) continue ;; esac
		# shellcheck disable=SC2254
		case $1 in $a_s) ;; *) continue ;; esac
		# shellcheck disable=SC2254
		case $2 in $a_t) ;; *) continue ;; esac
		# shellcheck disable=SC2254
		case $3 in $a_w) return 0 ;; esac
	done <"$top/scripts/ci-skips"
	return 1
}

# check_skips SUITE CHECK_OUT: a skip not on the allow-list counts as a
# failure (HRNG_ALLOW_SKIPS=1: a warning), so a missing tool or a broken
# precondition cannot pass CI as "skipped".
check_skips() {
	bad=$(grep '^SKIP:' "$2" | while IFS= read -r line; do
		rest=${line#SKIP: }
		t=${rest%% *}
		after=${rest#* }
		case $after in
		"- "*) what="(whole script) ${after#- }" ;;
		*"# SKIP "*) what=${after#*# SKIP } ;;
		*) what=$after ;;
		esac
		allowed "$1" "$t" "$what" || printf '%s\n' "$t: $what"
	done)
	# a whole script skipped hides every check in it: name them apart
	whole=$(sed -n 's/^SKIP: \([^ ]*\) - .*/\1/p' "$2" | tr '\n' ' ')
	[ -z "$whole" ] || printf '%s\n' "[$1] note: whole scripts skipped: $whole"
	[ -n "$bad" ] || return 0
	n=$(printf '%s\n' "$bad" | wc -l)
	if [ "${HRNG_ALLOW_SKIPS:-}" = 1 ]; then
		printf '%s\n' "$bad" | sed "s|^|[$1] WARN: a skip not on scripts/ci-skips: |"
		return 0
	fi
	printf '%s\n' "$bad" | sed "s|^|[$1] FAIL: a skip not on scripts/ci-skips: |"
	fail=$((fail + n)) skip=$((skip - n))
}
