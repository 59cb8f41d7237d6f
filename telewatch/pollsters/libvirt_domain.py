"""A libvirt domain as the compute pollsters see it: what its XML description says (devices,
nova metadata), and the statistics the inspector reads for it. Pure: no libvirt calls."""

import collections
import xml.etree.ElementTree as etree

NOVA_NS_PREFIX = '{http://openstack.org/xmlns/libvirt/nova/'
_MEMORY_UNITS = {'b': 1, 'bytes': 1, 'KB': 10 ** 3, 'k': 2 ** 10, 'KiB': 2 ** 10,
                 'MB': 10 ** 6, 'M': 2 ** 20, 'MiB': 2 ** 20, 'GB': 10 ** 9, 'G': 2 ** 30,
                 'GiB': 2 ** 30, 'TB': 10 ** 12, 'T': 2 ** 40, 'TiB': 2 ** 40}


Interface = collections.namedtuple('Interface', 'dev mac fref parameters')


class Domain:
    """One running domain of a cycle: what its XML says, and the statistics read for it.

    ``id`` is the instance uuid (discovery returns these objects as resources). Statistics
    keep the bulk API's names: ``stats`` has 'state.state', 'cpu.time', 'balloon.<key>';
    ``disk_stats[dev]`` BLOCK_KEYS and BLOCK_INFO_KEYS; ``nic_stats[dev]`` NET_KEYS. A
    missing key means "not available now". ``monotonic[kind]``: when ``kind`` was read.
    """

    __slots__ = ('id', 'name', 'vcpus', 'memory_mb', 'disks', 'nics', 'has_balloon',
                 'os_type', 'architecture', 'display_name', 'flavor', 'user_id',
                 'project_id', 'image_ref', 'handle', 'vanished', 'stats', 'disk_stats',
                 'nic_stats', 'monotonic')

    def __init__(self, handle=None):
        self.handle = handle
        self.vanished = False
        self.id = self.name = self.vcpus = self.memory_mb = None
        self.disks, self.nics, self.has_balloon = (), (), False
        self.os_type = self.architecture = self.display_name = self.flavor = None
        self.user_id = self.project_id = self.image_ref = None
        self.stats, self.disk_stats, self.nic_stats, self.monotonic = {}, {}, {}, {}

    @property
    def state(self):
        return self.stats.get('state.state')

    def __repr__(self):
        return '<Domain %s %s>' % (self.name, self.id)


def parse_domain(text, domain=None):
    """A Domain (new, or ``domain`` filled in) from a domain's XML description."""
    root = etree.fromstring(text)
    domain = Domain() if domain is None else domain
    domain.id = root.findtext('uuid')
    domain.name = root.findtext('name')
    vcpu = root.find('vcpu')
    domain.vcpus = None if vcpu is None else int(vcpu.get('current') or vcpu.text)
    domain.memory_mb = _memory_mb(root.find('memory'))
    os_type = root.find('os/type')
    domain.os_type = None if os_type is None else os_type.text
    domain.architecture = None if os_type is None else os_type.get('arch')
    devices = root.find('devices')
    if devices is None:
        devices = etree.Element('devices')
    domain.disks = tuple(_disk_devices(devices))
    domain.nics = tuple(_interfaces(devices))
    balloon = devices.find('memballoon')
    domain.has_balloon = balloon is not None and balloon.get('model') != 'none'
    _apply_nova_metadata(domain, root.find('metadata'))
    return domain


def _memory_mb(element):
    if element is None or not element.text:
        return None
    size = int(element.text) * _MEMORY_UNITS.get(element.get('unit', 'KiB'), 2 ** 10)
    return size // 2 ** 20 if size % 2 ** 20 == 0 else size / 2 ** 20


def _disk_devices(devices):
    for disk in devices.iterfind('disk'):
        target = disk.find('target')
        if disk.find('source') is not None and target is not None and target.get('dev'):
            yield target.get('dev')


def _interfaces(devices):
    for interface in devices.iterfind('interface'):
        target, mac = interface.find('target'), interface.find('mac')
        if target is None or mac is None or not target.get('dev') or not mac.get('address'):
            continue
        filterref = interface.find('filterref')
        fref = parameters = None
        if filterref is not None:
            fref = filterref.get('filter')
            parameters = {parameter.get('name'): parameter.get('value')
                          for parameter in filterref.iterfind('parameter')}
        yield Interface(target.get('dev'), mac.get('address'), fref, parameters or None)


def _apply_nova_metadata(domain, metadata):
    instance = _nova_instance(metadata)
    if instance is None:
        return
    ns = instance.tag[:instance.tag.index('}') + 1]
    domain.display_name = instance.findtext(ns + 'name')
    flavor = instance.find(ns + 'flavor')
    if flavor is not None:
        domain.flavor = {'name': flavor.get('name')}
        if flavor.get('id'):
            domain.flavor['id'] = flavor.get('id')
        for key, tag in (('vcpus', 'vcpus'), ('ram', 'memory'), ('disk', 'disk'),
                         ('ephemeral', 'ephemeral'), ('swap', 'swap')):
            domain.flavor[key] = _int(flavor.findtext(ns + tag))
    owner = instance.find(ns + 'owner')
    if owner is not None:
        domain.user_id = _uuid_of(owner.find(ns + 'user'))
        domain.project_id = _uuid_of(owner.find(ns + 'project'))
    root = instance.find(ns + 'root')
    if root is not None and root.get('type', 'image') == 'image':
        domain.image_ref = root.get('uuid') or None


def _nova_instance(metadata):
    if metadata is None:
        return None
    for element in metadata:
        if element.tag.startswith(NOVA_NS_PREFIX) and element.tag.endswith('}instance'):
            return element
    return None


def _uuid_of(element):
    return None if element is None else element.get('uuid')


def _int(text):
    try:
        return int(text)
    except (TypeError, ValueError):
        return None
