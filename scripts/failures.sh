#!/usr/bin/env bash
# Prints what failed in a `go test` log ($1): each "--- FAIL" line, then
# that test's tagged failed checks ("CHECK FAILED", the long impair tests
# tag theirs), or else its first lines that are not log lines, and its last
# line (where t.Fatal leaves its message).
awk '
function flush() {
  if (name == "") return
  print name
  if (ntag > 0) { for (i = 1; i <= ntag && i <= 8; i++) print "   " tag[i] }
  else {
    k = 0
    last = 0
    for (i = 1; i <= nl && k < 4; i++) if (line[i] !~ / INFO | WARN |: saved |=== RUN/) { print "   " line[i]; k++; last = i }
    if (nl > last) print "   ... " line[nl]
  }
  name = ""; ntag = 0; nl = 0
}
/^[ \t]*--- FAIL:/ { flush(); name = $0; next }
/^(ok|FAIL|PASS|---|===|\?)[ \t]/ || /^(FAIL|PASS)$/ { flush(); next }
name != "" {
  l = $0; sub(/^[ \t]+/, "", l); l = substr(l, 1, 240)
  if (l ~ /CHECK FAILED/) { sub(/^.*CHECK FAILED: /, "", l); tag[++ntag] = l }
  line[++nl] = l
}
END { flush() }
' "$1"
