#!/bin/sh
# Run "ncbench lookup" on the nine shared ClassBench sets (read in place, never
# copied) and print a Markdown table of the results.
#   usage: classbench.sh NCBENCH [CSV] [lookup options...]
# NC_CLASSBENCH_DIR (default ../shared/data/classbench) holds the sets.  The
# 1K and 10K sets use their trace files; the 100K sets use a generated trace
# larger than the last-level cache (their shared traces, 100,000 keys, fit in
# it), unless NC_TRACE100K=shared.  Rows are appended to CSV (default
# classbench.csv); "classbench.sh --table CSV" only prints the table.
set -u
if [ "${1:-}" = --table ]; then
	csv=$2
else
	nc=${1:?usage: classbench.sh NCBENCH [CSV] [lookup options...]}
	csv=${2:-classbench.csv}
	[ $# -ge 2 ] && shift 2 || shift $#
	dir=${NC_CLASSBENCH_DIR:-../shared/data/classbench}
	[ -d "$dir" ] || { echo "classbench.sh: no $dir" >&2; exit 1; }
	for n in 1k 10k 100k; do
		for s in acl1 fw1 ipc1; do
			r=$dir/${s}_$n.rules
			t=$dir/${s}_$n.trace
			[ -r "$r" ] || continue
			if [ $n = 100k ] && [ "${NC_TRACE100K:-generated}" != shared ]; then
				targs=""
			else
				targs="--trace $t"
			fi
			echo "== ${s}_$n" >&2
			# shellcheck disable=SC2086
			"$nc" lookup --rules "$r" $targs --csv "$csv" "$@" >&2 || echo "classbench.sh: ${s}_$n failed" >&2
		done
	done
fi
awk -F, '
NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
$1 == "set" { next }
{
	k = $c["set"] SUBSEP $c["trace_keys"]
	if (!(k in seen)) { seen[k] = 1; order[++n] = k; rules[k] = $c["rules"] }
	v = $c["lookups_per_s"] / 1e6
	if ($c["impl"] == "ours") {
		ours[k, $c["mode"]] = v; obuild[k] = $c["build_ms"]; obpr[k] = $c["bytes_per_rule"]
		if (v > obest[k]) obest[k] = v
	} else if ($c["impl"] == "rte_acl") {
		a = $c["code"]; algs[a] = 1
		if (v > acl[k, a]) acl[k, a] = v
		if (v > abest[k]) abest[k] = v
		abuild[k] = $c["build_ms"]; abpr[k] = $c["bytes_per_rule"]
	}
}
END {
	na = split("scalar sse avx2 avx512x16 avx512x32", an, " ")
	printf "| set | rules | trace keys | ours single | ours bulk |"
	for (i = 1; i <= na; i++) printf " %s |", an[i]
	printf " ratio | build ms ours | build ms rte_acl | B/rule ours | B/rule rte_acl |\n|"
	for (i = 1; i <= 10 + na; i++) printf "---|"
	printf "\n"
	for (j = 1; j <= n; j++) {
		k = order[j]; split(k, kk, SUBSEP)
		printf "| %s | %s | %s | %.2f | %.2f |", kk[1], rules[k], kk[2], ours[k, "single"], ours[k, "bulk"]
		for (i = 1; i <= na; i++) printf " %s |", ((k, an[i]) in acl) ? sprintf("%.2f", acl[k, an[i]]) : "-"
		printf " %s | %.1f | %s | %.0f | %s |\n", abest[k] ? sprintf("%.2f", obest[k] / abest[k]) : "n/a",
			obuild[k], abest[k] ? sprintf("%.0f", abuild[k]) : "-", obpr[k], abest[k] ? sprintf("%.0f", abpr[k]) : "-"
	}
	print "\nlookups/s in millions per CPU second (median of the repeats); rte_acl columns: best of single and bulk; ratio: best ours / best rte_acl"
}' "$csv"
