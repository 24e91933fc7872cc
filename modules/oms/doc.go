// Package oms holds the modules that drive an OMS deployment: docker_image and
// docker_container (the Docker Engine on the nodes, through the docker CLI), mysqldump and
// mysql_exec (the MetaDB: verified dumps through the mysqldump and mysql clients, statements
// through the MySQL driver), oms_param (OMS system parameters such as ha.config) and
// wait_online (node status), with the helpers they share. Each module keeps the contract of
// package modules; modules/registry lists them.
package oms
