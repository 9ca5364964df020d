/**
 * Ink colours through chalk, whose level is decided when it is first imported, from the terminal
 * and the environment: none in an ava worker whose output is a pipe, some when FORCE_COLOR is set.
 * Fixed here, every frame holds the same escape codes wherever the tests run, and the selection
 * (inverse video) can be read from it. (chalk is Ink's own dependency, one shared instance.)
 */
import chalk from 'chalk';

chalk.level = 1;
