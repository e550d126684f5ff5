#!/usr/bin/env python3
"""Man pages from the plain text in man/*.txt (kept readable in the repo):

  # NAME SECTION "NAME - what it is"   the title line
  ## HEADING                            a section
  `term`                                a tagged paragraph; its text on the
      indented lines that follow        next lines, indented by four spaces
  other lines                           paragraphs (blank lines between);
                                        **bold** and *italic* inline

  tools/mkman.py IN.txt OUT.N
"""
import re
import sys


def roff_text(s):
    s = s.replace("\\", "\\e").replace("-", "\\-")
    s = re.sub(r"\*\*(.+?)\*\*", r"\\fB\1\\fR", s)
    s = re.sub(r"\*(.+?)\*", r"\\fI\1\\fR", s)
    if s.startswith((".", "'")):
        s = "\\&" + s
    return s


def convert(text):
    lines = text.splitlines()
    m = re.match(r'^# (\S+) (\d) "(.+)"$', lines[0])
    if not m:
        raise SystemExit("the first line must be: # NAME SECTION \"NAME - what it is\"")
    name, section, title = m.groups()
    out = [f'.TH {name.upper()} {section} "" "satellite" "Satellite"', ".SH NAME", roff_text(title)]
    para = []

    def flush():
        if para:
            out.extend([".PP", roff_text(" ".join(para))])
            para.clear()
    for line in lines[1:]:
        if line.startswith("## "):
            flush()
            out.append(".SH " + line[3:].strip().upper())
        elif line.startswith("`") and line.rstrip().endswith("`"):
            flush()
            out.extend([".TP", "\\fB" + roff_text(line.strip()[1:-1]) + "\\fR"])
        elif line.startswith("    "):
            out.append(roff_text(line.strip()))
        elif not line.strip():
            flush()
        else:
            para.append(line.strip())
    flush()
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        text = f.read()
    with open(sys.argv[2], "w") as f:
        f.write(convert(text))
