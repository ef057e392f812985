"""The ASGI application (`app`), and `python app.py` to serve it."""

from portal.app import create_app

app = create_app()

if __name__ == "__main__":
    from portal.cli import main

    main(["serve"])
