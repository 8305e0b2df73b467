#!/usr/bin/env python3
"""make_template_seeds.py -- seed corpus for fuzz_template.

Usage: make_template_seeds.py OUTDIR [TEMPLATES_DIR]
Writes OUTDIR/template/*: the real chat templates (when the shared fixtures
folder is given and exists) and small templates exercising each statement,
filter family and whitespace rule. Standard library only.
"""
import os
import sys

SMALL = [
    "{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\\n' + m['content'] + '<|im_end|>\\n' }}{% endfor %}",
    "{%- if messages[0]['role'] == 'system' %}{{ messages[0]['content']|trim }}{% else %}none{% endif -%}",
    "{% set ns = namespace(x=0) %}{% for m in messages if m.role != 'tool' %}{% set ns.x = ns.x + loop.index %}{% endfor %}{{ ns.x }}",
    "{% macro f(a, b=2) %}{{ a ~ b }}{% if a > 0 %}{{ f(a - 1) }}{% endif %}{% endmacro %}{{ f(3) }}",
    "{% macro w() %}[{{ caller() }}]{% endmacro %}{% call w() %}in{% endcall %}",
    "{{ tools|tojson(indent=4) }}{{ tools|selectattr('type', 'equalto', 'function')|map(attribute='function.name')|join(',') }}",
    "{% for k, v in messages[2].tool_calls[0].function.arguments|items %}{{ k }}={{ v }}{% endfor %}",
    "{{ messages[1].content[::-1] }}{{ messages[1].content.split(' ')|length }}{{ 'x' if n is odd else 'y' }}",
    "  {% if true %}\n  a\n  {% endif %}\n{#- c -#}\n{% raw %}{{ }}{% endraw %}",
    "{% set x %}{% filter upper %}{{ bos_token }}{% endfilter %}{% endset %}{{ x }}{{ strftime_now('%d %b %Y') }}",
    "{% for i in range(10) %}{% if i == 3 %}{% break %}{% endif %}{{ i }}{% endfor %}{{ raise_exception('stop') if n > 5 }}",
    "{{ (1, 2) }} {{ {'a': [1, 2.5, none]} }} {{ 7 // 2 }} {{ 2 ** 8 }} {{ -3 % 2 }} {{ 1 < 2 < 3 }}",
]


def main():
    out = os.path.join(sys.argv[1], "template")
    os.makedirs(out, exist_ok=True)
    for i, s in enumerate(SMALL):
        with open(os.path.join(out, "small_%02d.jinja" % i), "w", encoding="utf-8") as f:
            f.write(s)
    if len(sys.argv) > 2 and os.path.isdir(sys.argv[2]):
        for name in sorted(os.listdir(sys.argv[2])):
            if name.endswith(".jinja"):
                with open(os.path.join(sys.argv[2], name), "rb") as f, open(os.path.join(out, name), "wb") as g:
                    g.write(f.read())
    return 0


if __name__ == "__main__":
    sys.exit(main())
