"""placeholder"""
def add_arguments(parser):
    return parser
