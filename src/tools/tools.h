/* tools.h — the entry points of mien's measuring tools, the only part of src/tools/ that the
 * operator's CLI (src/cli/) sees. src/tools/ holds what measures mien rather than runs it: the
 * evaluations on labelled photos (`mien eval ...`) and the synthetic galleries of the
 * benchmarks (`mien collection import-synthetic`). They stay sub-commands of the one `mien`
 * binary, so the scripts and docs that run them keep working and an operator has one program
 * to install; the sources live apart so that src/cli/ is only what an operator runs. Tools
 * use cli.h's helpers (public API only, as the CLI); the CLI includes nothing of the tools
 * but this header. */
#ifndef MIEN_TOOLS_H
#define MIEN_TOOLS_H

/* `mien eval lfw|pairs|calibrate|fusion|flip|detection|lfw-1n` (eval_main.c). argv[0] is
 * "eval". Returns the exit code (cli.h's CLI_EXIT_*). */
int tools_cmd_eval(int argc, char **argv);

/* `mien collection import-synthetic`: synthetic templates, for benchmarks only
 * (synthetic.c). argv[0] is "import-synthetic". Returns the exit code. */
int tools_cmd_import_synthetic(int argc, char **argv);

#endif
