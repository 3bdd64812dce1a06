// nodectl: the command line for machined's resources.
#include <iostream>

#include "nodectl/app.h"

int main(int argc, char** argv) { return nodectl::run(argc, argv, std::cout, std::cerr); }
