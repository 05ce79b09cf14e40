#!/usr/bin/env bash
# No library exports a symbol without its prefix (issue 17): every global symbol defined in a
# static library starts with one of its folder's module names and '_' (the first word of a
# .c or .h file name there: models -> model_, zoo_, onnx_, ep_ ...; algorithms -> algo_, plan_,
# cluster_ ...; sim -> sim_; emu -> emu_; experiments -> store_, sweep_, plot_ ...), so no
# internal helper (deploy_spawn, pl_load) can clash with a user's. And the ep_* base needs no
# igraph (nothing undefined in it starts with igraph_).
# Usage: symbols.sh SOURCE_DIR LIBRARY:FOLDER...
set -u
src=$1
shift
failed=0
for pair in "$@"; do
	lib=${pair%%:*}
	folder=${pair#*:}
	prefixes=$(find "$src/$folder" -maxdepth 1 \( -name '*.c' -o -name '*.h' \) -printf '%f\n' |
		sed -E 's/\.[ch]$//; s/_.*//' | sort -u)
	if [ ! -s "$lib" ] || [ -z "$prefixes" ]; then
		echo "FAIL $lib ($folder): library or sources missing"
		failed=1
		continue
	fi
	# Defined globals: text, data, bss, read-only data, common (nm -g --defined-only); not
	# AddressSanitizer's one-definition-rule markers (__odr_asan.NAME, one per global, which
	# the compiler adds under -fsanitize=address: the CI's second pass).
	syms=$(nm -g --defined-only "$lib" |
		awk 'NF == 3 && $2 ~ /^[TDBRCGSV]$/ && $3 !~ /^__odr_asan/ { print $3 }' | sort -u)
	bad=$(grep -v -E "^($(echo "$prefixes" | paste -sd '|'))_" <<<"$syms" | grep -v '^$')
	n=$(grep -c . <<<"$syms")
	if [ -n "$bad" ]; then
		echo "FAIL $(basename "$lib"): $(grep -c . <<<"$bad") of $n exported symbols lack a" \
			"prefix of $folder/ ($(echo $prefixes)):"
		sed 's/^/     /' <<<"$bad"
		failed=1
	else
		echo "ok   $(basename "$lib"): all $n exported symbols carry a prefix of $folder/"
	fi
	if [ "$(basename "$lib")" = libep_base.a ]; then
		if nm -u "$lib" | grep -q ' igraph_'; then
			echo "FAIL libep_base.a needs igraph:"; nm -u "$lib" | grep ' igraph_' | sed 's/^/     /'
			failed=1
		else
			echo "ok   libep_base.a needs no igraph symbol"
		fi
	fi
done
exit $failed
