from zenctl.cli.app import main

main()
