from reelform.cli import run

run()
