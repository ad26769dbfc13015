// The actgrad command line as a callable function, for main.cpp and the in-process fuzz target.
#pragma once

namespace actgrad::cli {

// Runs `actgrad` on this argument vector (argv[0] is the program name, argv[argc] may be anything)
// and returns its exit status (SPEC §5): 0 on success, 2 on bad usage or input with one line on
// stderr, 1 on other failures. Reads stdin (eval) and writes stdout and stderr as the program
// does; it never exits, and every call builds its subcommands afresh, so it may be called again.
int run_cli(int argc, char** argv);

} // namespace actgrad::cli
