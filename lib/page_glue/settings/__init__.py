"""Each page's settings table, one module per page (its name is the page's): every setting the page draws,
declared once with lib/app/settings.py's types; the page's presets are checked against it on import."""
