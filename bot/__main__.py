"""Allow ``python -m bot`` as an alias of the ``bot`` console script."""

from bot.cli import main

if __name__ == "__main__":
    main()
