#!/usr/bin/env python3
"""Compiles a text file into C: const char SYMBOL[] and const size_t SYMBOL_len.

usage: embed_text.py SYMBOL INPUT OUTPUT.c
"""
import sys


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    symbol, src, out = sys.argv[1:]
    data = open(src, 'rb').read()
    lines = []
    for i in range(0, len(data), 16):
        lines.append('    ' + ', '.join('0x%02x' % b for b in data[i:i + 16]) + ',')
    with open(out, 'w') as f:
        f.write('/* Generated from %s by embed_text.py. */\n#include <stddef.h>\n\n' % src)
        f.write('const char %s[] = {\n%s\n    0x00};\n' % (symbol, '\n'.join(lines)))
        f.write('const size_t %s_len = %d;\n' % (symbol, len(data)))


if __name__ == '__main__':
    main()
