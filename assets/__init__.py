"""Files that ship with flowscope: scenes (scenes/*.json) and the pretrained models they open
(pretrained/*.pt). Installed as the package ``app.assets``; app/scenes.py finds them with
importlib.resources, so they are found the same way from a source checkout and from a wheel."""
