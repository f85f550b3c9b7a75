# Sourced by ./jostle and ci/test.sh: sets JOSTLE_PYTHON to an interpreter that has jinja2 (and, with
# NEED_PYTEST=1, pytest). Debian's /usr/bin/python3 first: the python3 first on PATH may be another one.
pick_python() {
  local mods="import jinja2"
  [ "${NEED_PYTEST:-0}" = 1 ] && mods="import jinja2, pytest"
  local c
  for c in /usr/bin/python3 "$(command -v python3 2>/dev/null || true)"; do
    if [ -n "$c" ] && [ -x "$c" ] && "$c" -c "$mods" >/dev/null 2>&1; then
      JOSTLE_PYTHON=$c
      return 0
    fi
  done
  echo "jostle: no python3 with jinja2${NEED_PYTEST:+ and pytest} found (run ci/bootstrap.sh)" >&2
  return 3
}
