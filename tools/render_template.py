#!/usr/bin/env python3
"""render_template.py -- the reference renderer for chat templates.

Renders a Jinja chat template with Python's Jinja2 configured the way
Hugging Face transformers configures it in apply_chat_template:

  ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                extensions=[{% generation %}, loopcontrols])
  filters["tojson"]           json.dumps(x, ensure_ascii=False, indent=..., separators=...,
                              sort_keys=...) -- no HTML escaping, key order kept
  globals["raise_exception"]  raises TemplateError(message)
  globals["strftime_now"]     datetime.now().strftime(fmt)

The variables come from a JSON object (the context), passed as keyword
arguments to render(), exactly what `stargate template` builds. To pin
strftime_now, set SG_TEMPLATE_NOW to a Unix time (the C side reads it too).

Usage:
  render_template.py TEMPLATE_FILE CONTEXT_JSON_FILE
      prints the prompt (nothing appended); on a template error prints
      "error: MESSAGE" on stderr and exits 1.
Importable: render(template_source, context_dict) -> str.
"""
import json
import os
import sys
from datetime import datetime

import jinja2
from jinja2 import nodes
from jinja2.ext import Extension
from jinja2.sandbox import ImmutableSandboxedEnvironment


class GenerationTag(Extension):
    """transformers' {% generation %} ... {% endgeneration %}: marks the
    assistant's part of the prompt; renders its body in its own scope."""

    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
        return nodes.Scope(body, lineno=lineno)


def _tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def _raise_exception(message):
    raise jinja2.exceptions.TemplateError(message)


def _strftime_now(fmt):
    pinned = os.environ.get("SG_TEMPLATE_NOW")
    now = datetime.fromtimestamp(int(pinned)) if pinned else datetime.now()
    return now.strftime(fmt)


def environment():
    env = ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=[GenerationTag, "jinja2.ext.loopcontrols"]
    )
    env.filters["tojson"] = _tojson
    env.globals["raise_exception"] = _raise_exception
    env.globals["strftime_now"] = _strftime_now
    return env


def render(source, context):
    return environment().from_string(source).render(**context)


def main(argv):
    if len(argv) != 3:
        sys.stderr.write(__doc__)
        return 2
    with open(argv[1], encoding="utf-8") as f:
        source = f.read()
    with open(argv[2], encoding="utf-8") as f:
        context = json.load(f)
    try:
        out = render(source, context)
    except Exception as e:  # the template's own error: report, like the C side
        sys.stderr.write("error: %s\n" % e)
        return 1
    sys.stdout.buffer.write(out.encode("utf-8"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
