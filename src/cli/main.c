#include <stdio.h>
#include <string.h>

#include "g4.h"

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--version") == 0) {
        printf("g4 %s\n", g4_version());
        return 0;
    }
    fprintf(stderr, "g4: unknown command '%s'\n", argv[1]);
    return 2;
}
