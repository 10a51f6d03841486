"""``python -m cardseq``: the same command as the ``cardseq`` console script, for
environments where the script is not on PATH."""

from .cli import main

if __name__ == "__main__":
    main()
