from gualema.cli import main

main()
