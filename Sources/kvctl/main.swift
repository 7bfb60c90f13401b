import Glibc

// Entry point: parse the raw command line (see RawArguments), run the
// command, map every failure to one stderr line and an exit code.
exit(KVCtl.runMain(RawArguments.arguments))
