// The actgrad command-line tool's entry point: everything happens in run_cli (cli.cpp).
#include "cli.hpp"

int main(int argc, char** argv) { return actgrad::cli::run_cli(argc, argv); }
