"""Web pages for the people who use the service: case handlers, planners and operators, in
Swedish, server-rendered (Jinja2 and plain forms: every page works without script, and the
one script only checks an identity number as it is typed), on the same data, roles and
audit as the API. Assets are served by the app: no outside CDN."""
