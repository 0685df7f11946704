"""The built-in densities' names, without loading any of them or torch: what a command line checks before
its window opens (``flowscope --density rings`` painted its window ~0.85 s later while torch loaded to
check the name). ``engine.densities.DENSITIES`` holds the densities themselves, under these names."""

BUILTIN_NAMES: tuple[str, ...] = (
    "8gaussians", "25gaussians", "moons", "circles", "rings", "checkerboard", "pinwheel", "2spirals", "swissroll",
    "banana", "funnel", "twomodes", "gaussian",
)
