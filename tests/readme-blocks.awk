# readme-blocks.awk - split README.md into its ```sh blocks, for
# tests/readme.sh.  Writes each block (its indentation removed) to
# DIR/block.N and prints one manifest line per block:
#	N <TAB> LINE <TAB> GROUP <TAB> KIND <TAB> REASON
# GROUP is "fed" for the blocks of "## Two companies: federation" (run
# against two registries), "dev" for the others (one nsregd --dev).
# KIND is "skip" (an HTML comment "<!-- readme-test: skip: REASON -->"
# right before the block), "file" (the block between "<!-- verify-grant.sh
# -->" markers: a copy of that script), "output" (comments only: output
# shown, no command) or "run".  For "run", REASON is the NAME of an HTML
# comment "<!-- readme-test: before: NAME -->" right before the block:
# tests/readme.sh does NAME first (to show what the block shows).
# Usage: awk -v dir=DIR -f readme-blocks.awk README.md
BEGIN {
	n = 0
	inblock = 0
	group = "dev"
	pending = ""
	reason = ""
}
inblock && $0 ~ "^" indent "```[ \t]*$" {
	close(file)
	kind = "run"
	if (pending == "skip")
		kind = "skip"
	else if (pending == "file")
		kind = "file"
	else if (!hascmd)
		kind = "output"
	if (pending != "hook" && kind == "run")
		reason = ""
	printf "%d\t%d\t%s\t%s\t%s\n", n, start, group, kind, reason
	inblock = 0
	pending = ""
	reason = ""
	next
}
inblock {
	line = $0
	if (substr(line, 1, length(indent)) == indent)
		line = substr(line, length(indent) + 1)
	print line > file
	if (line !~ /^[ \t]*(#.*)?$/)
		hascmd = 1
	next
}
/^## / {
	group = ($0 ~ /^## Two companies: federation/) ? "fed" : "dev"
}
/^[ \t]*<!-- readme-test: skip: .* -->[ \t]*$/ {
	pending = "skip"
	reason = $0
	sub(/^[ \t]*<!-- readme-test: skip: */, "", reason)
	sub(/ *-->[ \t]*$/, "", reason)
	next
}
/^[ \t]*<!-- readme-test: before: [a-z-]* -->[ \t]*$/ {
	pending = "hook"
	reason = $0
	sub(/^[ \t]*<!-- readme-test: before: */, "", reason)
	sub(/ *-->[ \t]*$/, "", reason)
	next
}
/^[ \t]*<!-- verify-grant.sh -->[ \t]*$/ {
	pending = "file"
	reason = "tests/integration/verify-grant.sh"
	next
}
/^[ \t]*```sh[ \t]*$/ {
	n++
	start = NR
	indent = $0
	sub(/```sh[ \t]*$/, "", indent)
	file = dir "/block." n
	printf "" > file
	inblock = 1
	hascmd = 0
	next
}
/^[ \t]*$/ {
	next
}
{
	# Any other line between a marker and its block cancels the marker.
	pending = ""
	reason = ""
}
