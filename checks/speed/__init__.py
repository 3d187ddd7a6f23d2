"""Speed checks: each vectorised op against torchvision's on the same input (own points)."""
