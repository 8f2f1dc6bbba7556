"""Environment variables a job may not set: they make other code run.

Pure Python, no Django imports. Approval vouches for a script's content;
a variable that makes the dynamic loader, the interpreter or a language
runtime load or run *other* code (a library, a startup file, a module
found on an extra path, command-line options hidden in the environment)
would let a job run code nobody approved. Such names are refused when a
job or a secret is saved (admin, API, import: `jobs.validators`), and
dropped, with a warning naming them, from every run's environment: from
the job's variables and secrets (rows planted in the database without
validation) and from the worker's own inherited environment.

The list covers the loader (glibc's "unsecure" variables that load code),
the interpreters the runner starts (Python, bash, sh) and the common
runtimes a directly executed script may use (Perl, Ruby, Node.js, Java,
Lua, PHP, OpenSSL's module loading). `PATH` is refused too: it decides
which program a command name in an approved script starts. Names are
compared ignoring case. The worker's own `PATH` is kept (scripts need it;
the operator sets it), every other refused name is dropped from the
inherited environment too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

MSG_REFUSED = (
    "{name!r} may not be set: it can make the interpreter or the loader run "
    "code that was never approved."
)

# Exact names, upper case.
REFUSED_NAMES = frozenset(
    {
        # Shells: startup files, imported settings, traced prompts, parsing.
        "ENV",
        "BASHOPTS",
        "SHELLOPTS",
        "PS4",
        "PROMPT_COMMAND",
        "IFS",
        "CDPATH",
        "GLOBIGNORE",
        # Which program a command name starts.
        "PATH",
        # glibc: modules and data the C library loads.
        "GCONV_PATH",
        "GETCONF_DIR",
        "GLIBC_TUNABLES",
        "LOCPATH",
        "NLSPATH",
        "MALLOC_TRACE",
        # Perl.
        "PERLLIB",
        "PERLIO",
        "PERLDB_OPTS",
        # Ruby.
        "RUBYOPT",
        "RUBYLIB",
        # Java: options and agents hidden in the environment; class path.
        "JAVA_TOOL_OPTIONS",
        "_JAVA_OPTIONS",
        "JDK_JAVA_OPTIONS",
        "CLASSPATH",
        # PHP configuration files.
        "PHPRC",
        "PHP_INI_SCAN_DIR",
        # OpenSSL loads engines and providers named in its configuration.
        "OPENSSL_CONF",
        "OPENSSL_ENGINES",
        "OPENSSL_MODULES",
    }
)
# Prefixes, upper case: every name starting with one is refused.
REFUSED_PREFIXES = (
    "LD_",  # the dynamic loader: LD_PRELOAD, LD_LIBRARY_PATH, LD_AUDIT, ...
    "DYLD_",  # the macOS loader
    "PYTHON",  # PYTHONPATH, PYTHONSTARTUP, PYTHONHOME, PYTHONBREAKPOINT, ...
    "BASH_",  # BASH_ENV, BASH_FUNC_* (exported functions), BASH_LOADABLES_PATH
    "PERL5",  # PERL5LIB, PERL5OPT, PERL5DB
    "RUBY",  # RUBYOPT, RUBYLIB, RUBY_* tuning
    "NODE_",  # NODE_OPTIONS (--require), NODE_PATH
    "LUA_",  # LUA_INIT runs code; LUA_PATH, LUA_CPATH
)
# Refused from a job, but kept from the worker's own environment.
WORKER_KEPT = frozenset({"PATH"})


def is_refused(name: str) -> bool:
    """Return True if a job may not set the variable `name`."""
    upper = name.upper()
    return upper in REFUSED_NAMES or upper.startswith(REFUSED_PREFIXES)


def refused_message(name: str) -> str | None:
    """Return why `name` is refused, naming it, or None if it is allowed."""
    return MSG_REFUSED.format(name=name) if is_refused(name) else None


def refused_names(names: Iterable[str]) -> list[str]:
    """Return the names among `names` that are refused, in their order."""
    return [name for name in names if is_refused(name)]


def without_refused(
    env: Mapping[str, str], *, keep: Iterable[str] = ()
) -> tuple[dict[str, str], list[str]]:
    """Return `env` without its refused names, and the names dropped.

    Names in `keep` (compared ignoring case) stay even if refused.
    """
    kept_names = {name.upper() for name in keep}
    cleaned: dict[str, str] = {}
    dropped: list[str] = []
    for name, value in env.items():
        if is_refused(name) and name.upper() not in kept_names:
            dropped.append(name)
        else:
            cleaned[name] = value
    return cleaned, dropped
