"""The generated sample world: profiles, posts, Facebook profiles and follows with a hidden truth, and the vocab it draws from."""
