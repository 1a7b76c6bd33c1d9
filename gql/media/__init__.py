"""Product media: uploaded images, their storage, renditions and the route that serves them."""
