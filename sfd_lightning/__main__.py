from sfd_lightning.cli import main

main()
