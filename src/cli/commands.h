/* commands: the entry point of each command (main.c's table). Each parses
 * its own argv (argv[0] is the command name) and returns an exit code
 * (exitcode.h); none of them calls exit(). */
#ifndef EVCAT_COMMANDS_H
#define EVCAT_COMMANDS_H

int cmd_listen(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_ws(int argc, char **argv);
int cmd_send(int argc, char **argv);
int cmd_replay(int argc, char **argv);
int cmd_bench(int argc, char **argv);

#endif
