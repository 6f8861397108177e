from . import ha_entity, ha_instance, ha_instance_access, ha_instance_resolution, res_users
