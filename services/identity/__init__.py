"""The identity service: accounts bound to a ward, sign-in (password, second factor), and the tokens the services verify."""
