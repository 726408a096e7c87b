parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--epochs", type=int, default=EPOCHS, help="how many epochs to train (default: the run's)")
arguments, _ = parser.parse_known_args()  # a notebook's kernel passes arguments of its own
folder = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
