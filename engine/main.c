/* main.c — the moonshark command: hands argv to the CLI. */
#include "cli.h"

int main(int argc, char **argv)
{
    return ms_cli_main(argc, argv);
}
