# readme-expect.awk - what one README block says its commands answer,
# for tests/readme.sh.  Reads a block; prints one line per command that
# runs curl (one per curl in it, in order) or shows output:
#	KIND <TAB> LINE <TAB> STATUS <TAB> FIELDS
# KIND is "curl" (the Nth curl or curlp line is the block's Nth curl
# call), "curlp" (a curl in a pipeline: the output shown is the
# pipeline's, checked against the block's standard output) or "out" (a
# command without curl, followed by output: checked against the block's
# standard output).  LINE is the command's line in the block.
# STATUS is what the answer must be: "2xx", a status code (an output
# comment that starts with one, "HTTP/1.1 201 Created", or a trailing
# "# 204"), or "err" (an output comment with "error").  FIELDS, separated
# by \037, are the key fields of the output shown ("name":"x", codes,
# decisions, reasons, messages...) that the real answer must contain;
# volatile values (ids, times, tokens, anything cut with "...") are not
# compared.
#
# A command starts on a line that is not a comment and goes on while a
# line ends in "\" or "|", or a quote is open.  Comment lines right after
# it are its output when the first one starts like output: "{", "[",
# "\"", "HTTP/" or a three-digit status; it goes on with lines indented
# or starting like output (and header lines after "HTTP/").
function flush_output(	  s, st, f, re, m, v, k, i) {
	if (outtext == "" || ncmd == 0)
		return
	s = outtext
	st = "2xx"
	if (match(s, /^HTTP\/[0-9.]+ [0-9][0-9][0-9]/))
		st = substr(s, RSTART + RLENGTH - 3, 3)
	else if (match(s, /^[0-9][0-9][0-9]( |$)/))
		st = substr(s, 1, 3)
	else if (s ~ /"error":/)
		st = "err"
	f = ""
	re = "\"(name|code|decision|type|reason|principal|endpoint|service|" \
	    "address|network|sub|url|owner|message|trust_domain|profile|" \
	    "active)\":(\"[^\"]*\"|true|false)|\"reasons\":\\[[^]]*\\]"
	while (match(s, re)) {
		m = substr(s, RSTART, RLENGTH)
		s = substr(s, RSTART + RLENGTH)
		v = m
		sub(/^"[a-z_]*":/, "", v)
		gsub(/"/, "", v)
		if (m ~ /\.\.\./ || (length(v) == 26 && v ~ /^[0-9a-z]+$/) ||
		    v ~ /^[0-9][0-9][0-9][0-9]-[0-9][0-9]-/)
			continue
		f = f (f == "" ? "" : "\037") m
	}
	k = cmdkind[ncmd]
	if (k == "curl") {
		i = lastcurl
		if (cstatus[i] == "2xx")
			cstatus[i] = st
		cfields[i] = f
	} else {
		nout++
		oline[nout] = cmdline[ncmd]
		ofields[nout] = f
		oafter[nout] = ncurl
	}
	outtext = ""
}
function scan(line,	  i, c, u) {
	# Unquoted text of LINE (quoted parts blanked), and the quote state
	# after it; sets trailing to a trailing comment.
	u = ""
	trailing = ""
	for (i = 1; i <= length(line); i++) {
		c = substr(line, i, 1)
		if (q == 1) {
			if (c == "'")
				q = 0
			u = u " "
		} else if (q == 2) {
			if (c == "\\")
				i++
			else if (c == "\"")
				q = 0
			u = u " "
		} else if (c == "'") {
			q = 1
			u = u " "
		} else if (c == "\"") {
			q = 2
			u = u " "
		} else if (c == "\\") {
			u = u c
			if (i < length(line)) {
				i++
				u = u " "
			}
		} else if (c == "#" && (i == 1 || substr(line, i - 1, 1) ~ /[ \t]/)) {
			trailing = substr(line, i)
			break
		} else
			u = u c
	}
	return u
}
BEGIN {
	q = 0
	incmd = 0
	ncmd = 0
	ncurl = 0
	nout = 0
	outtext = ""
	collecting = 0
}
{
	if (!incmd && $0 ~ /^[ \t]*#/) {
		t = $0
		sub(/^[ \t]*# ?/, "", t)
		if (!collecting && ncmd > 0 && justended &&
		    t ~ /^([{["]|HTTP\/|[0-9][0-9][0-9]( |$))/) {
			collecting = 1
			outtext = t
		} else if (collecting && t ~ /^[ \t]/) {
			sub(/^[ \t]+/, "", t)
			outtext = outtext " " t
		} else if (collecting && (t ~ /^([{["]|HTTP\/)/ ||
		    (outtext ~ /^HTTP\// && t ~ /^[A-Za-z-]+: /))) {
			outtext = outtext " " t
		} else {
			if (collecting)
				flush_output()
			collecting = 0
			justended = 0
		}
		next
	}
	if (!incmd && $0 ~ /^[ \t]*$/) {
		if (collecting)
			flush_output()
		collecting = 0
		justended = 0
		next
	}
	if (!incmd) {
		if (collecting)
			flush_output()
		collecting = 0
		ncmd++
		cmdline[ncmd] = NR
		cmdkind[ncmd] = "cmd"
		text = ""
	}
	u = scan($0)
	text = text " " u
	if (q != 0 || u ~ /(\\|\|)[ \t]*$/) {
		incmd = 1
		next
	}
	incmd = 0
	justended = 1
	# The command is complete: its curls, in order.
	s = " " text
	while (match(s, /(^|[|;&(])[ \t]*curl([ \t]|$)/)) {
		ncurl++
		cline[ncurl] = cmdline[ncmd]
		cstatus[ncurl] = "2xx"
		cfields[ncurl] = ""
		coutafter[ncurl] = nout
		cpipe[ncurl] = (text ~ /\|/)
		cmdkind[ncmd] = "curl"
		lastcurl = ncurl
		s = substr(s, RSTART + RLENGTH)
	}
	if (cmdkind[ncmd] == "curl" &&
	    match(trailing, /^#[ \t]*[0-9][0-9][0-9][ \t]*$/)) {
		t = trailing
		gsub(/[^0-9]/, "", t)
		cstatus[lastcurl] = t
	}
}
END {
	if (collecting)
		flush_output()
	j = 1
	for (i = 1; i <= ncurl; i++) {
		printf "%s\t%d\t%s\t%s\n", cpipe[i] ? "curlp" : "curl",
		    cline[i], cstatus[i], cfields[i]
		while (j <= nout && oafter[j] <= i) {
			printf "out\t%d\t-\t%s\n", oline[j], ofields[j]
			j++
		}
	}
	for (; j <= nout; j++)
		printf "out\t%d\t-\t%s\n", oline[j], ofields[j]
}
