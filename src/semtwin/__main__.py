from semtwin.cli import main

main()
