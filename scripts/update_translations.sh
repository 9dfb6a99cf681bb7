#!/usr/bin/env bash
# Refresh the translation catalogues after page strings change.
#
#   scripts/update_translations.sh
#
# 1. Extracts every _() / gettext() / _l() / lazy_gettext() string from
#    workflow_app/**.py and templates/**.html (mapping in babel.cfg) into
#    workflow_app/translations/messages.pot. The msgids are the Vietnamese texts.
# 2. Merges that template into workflow_app/translations/en/LC_MESSAGES/messages.po
#    (pybabel update; creates it with pybabel init the first time). New strings
#    arrive with an empty msgstr; strings whose Vietnamese changed a little come
#    back marked "#, fuzzy" with the old English as a guess.
# 3. Then: write the English for each empty or fuzzy entry in messages.po, delete
#    the "#, fuzzy" line once the English is right, and run
#    `.venv/bin/pytest tests/test_i18n.py`: it fails, naming the string, while
#    any msgid still lacks a finished English translation or a %(name)s
#    placeholder differs.
#
# No compile step: the app compiles .po -> .mo at start-up when the .mo is
# missing or older (workflow_app/i18n.py); .mo files are not committed.
# Needs only the project venv (Babel + Jinja2); no make, no git.
set -euo pipefail

cd "$(dirname "$0")/.."
PYBABEL="${PYBABEL:-.venv/bin/pybabel}"
[ -x "$PYBABEL" ] || PYBABEL="$(command -v pybabel)"
DIR=workflow_app/translations
POT="$DIR/messages.pot"
PO="$DIR/en/LC_MESSAGES/messages.po"

# Keep these keywords in step with KEYWORDS in tests/test_i18n.py.
"$PYBABEL" -q extract -F babel.cfg -k _l -k lazy_gettext \
    --project="Ho so Nong thon moi" --version=1 --copyright-holder="Tam Duong" \
    --sort-by-file -o "$POT" .

if [ -f "$PO" ]; then
    "$PYBABEL" -q update -i "$POT" -d "$DIR" -l en --ignore-obsolete
else
    "$PYBABEL" -q init -i "$POT" -d "$DIR" -l en
fi

# Report what still needs an English translation.
.venv/bin/python - "$PO" <<'PY'
import sys
from babel.messages.pofile import read_po
with open(sys.argv[1], "rb") as fh:
    catalog = read_po(fh)
todo = [m.id for m in catalog if m.id and (not m.string or m.fuzzy)]
print(f"{len(catalog)} messages in {sys.argv[1]}; {len(todo)} need English:")
for msgid in todo:
    print("  -", msgid)
PY
