"""A unit on its network interfaces: the virtual IP and the frames that announce it, the shared
address, rtnetlink, and the VRRP adverts with their virtual-ID conflicts (SPEC 5b, 5b').
"""
